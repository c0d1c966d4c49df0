"""Timer jobs: the work no request triggers — closing expired orders, asking WeChat about orders and refunds whose
notifications never came, checking the books against WeChat's daily bill, and retention. Each job is safe to run
twice at once: a lease lets one run do the work, and every change it makes is a conditional write anyway."""

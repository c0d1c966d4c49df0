"""A small "phone" page: a person opens a code_url (or picks an unpaid order) and presses Pay."""

from __future__ import annotations

import html

from emulator.app import Emulator

_PAGE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>WeChat Pay emulator · phone</title>
<style>
body{{font-family:system-ui,sans-serif;max-width:28rem;margin:1rem auto;padding:0 1rem;color:#222}}
h1{{font-size:1.2rem}} .order{{border:1px solid #ddd;border-radius:8px;padding:.6rem;margin:.5rem 0}}
button{{background:#07c160;color:#fff;border:0;border-radius:6px;padding:.5rem 1rem;font-size:1rem}}
input{{width:100%;padding:.4rem;box-sizing:border-box}} .muted{{color:#777;font-size:.85rem}}
#result{{white-space:pre-wrap;font-family:monospace;font-size:.8rem}}
</style></head><body>
<h1>微信支付 · emulator phone</h1>
<p class="muted">Local test emulator: no real money moves. Merchant {mchid}, signing mode {mode}.</p>
<form id="scan"><label>code_url <input name="code_url" value="{code_url}" placeholder="weixin://wxpay/bizpayurl?pr=…">
</label><p><button type="submit">Pay</button></p></form>
<h2>Unpaid orders</h2>{orders}
<div id="result" role="status"></div>
<script>
async function pay(body){{
  const r = await fetch('/_emulator/pay',{{method:'POST',headers:{{'Content-Type':'application/json'}},body:JSON.stringify(body)}});
  const data = await r.json();
  document.getElementById('result').textContent = r.ok ? '支付成功 ' + data.transaction.transaction_id
      : 'Error: ' + data.error.message;
  if (r.ok) setTimeout(()=>location.reload(), 1500);
}}
document.getElementById('scan').addEventListener('submit', e => {{ e.preventDefault();
  pay({{code_url: new FormData(e.target).get('code_url')}}); }});
document.querySelectorAll('button[data-order]').forEach(b =>
  b.addEventListener('click', () => pay({{out_trade_no: b.dataset.order}})));
</script></body></html>
"""


def page(emulator: Emulator, code_url: str = "") -> str:
    rows = emulator.store.all(
        "SELECT out_trade_no, description, amount_total FROM orders"
        " WHERE trade_state = 'NOTPAY' AND time_expire > ? ORDER BY created_at DESC LIMIT 20",
        emulator.clock.now(),
    )
    orders = "".join(
        f'<div class="order"><b>{html.escape(row["description"])}</b> ¥{row["amount_total"] / 100:.2f}'
        f'<br><span class="muted">{html.escape(row["out_trade_no"])}</span>'
        f'<p><button data-order="{html.escape(row["out_trade_no"])}">Pay</button></p></div>'
        for row in rows
    )
    return _PAGE.format(
        mchid=html.escape(emulator.keys.credentials.mchid),
        mode=html.escape(emulator.signer.mode),
        code_url=html.escape(code_url),
        orders=orders or '<p class="muted">None.</p>',
    )

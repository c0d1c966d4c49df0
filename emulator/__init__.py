"""A local WeChat Pay APIv3 emulator (direct merchant, Native payment). Never bundled into a function.

It is an independent implementation of the protocol: it imports neither ``shared.wechatpay`` nor ``wechatpayv3``.
"""

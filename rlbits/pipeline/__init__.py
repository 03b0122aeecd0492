"""The machinery that executes and renders the book (``python -m rlbits``); no chapter imports it."""

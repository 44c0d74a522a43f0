"""The gate: its agent (card tap or face -> local decision -> relay -> event), the pure
gate policy, the sync of cards and gallery from the hub, and the field simulator."""

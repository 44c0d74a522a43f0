"""The device agent of a gate or classroom Raspberry Pi.

One concurrency model, said out loud: the caller owns time. An agent has no
thread of its own; whoever runs it (``edge.agent.run`` on a Pi, the district
simulator for hundreds of agents in one process) calls ``tick(now)`` and, on a
gate, ``handle_tap(uid)``. The other threads are paho's network loops, whose
callbacks never block on agent work, and, on a face gate only, the camera's
reader and the gate's ``face`` thread (see ``edge.gate.agent``): face encoding takes a
few hundred milliseconds a frame and must never hold up a card tap.
"""

"""The device agent of a gate or classroom Raspberry Pi.

One concurrency model, said out loud: the caller owns time. An agent has no
thread of its own; whoever runs it (``edge.agent.run`` on a Pi, the district
simulator for hundreds of agents in one process) calls ``tick(now)`` and, on a
gate, ``handle_tap(uid)``. The only threads are paho's network loops, whose
callbacks never block on agent work.
"""

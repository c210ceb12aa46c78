"""Jobs as the queue knows them: their tables, the states they move through, how they are
built and checked in memory, their request types and payloads, secrets hidden in them, and
the settings the core takes from its host.

The ground floor of the core: it imports nothing of the queue's other parts.
"""

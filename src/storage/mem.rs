//! An in-memory backend that injects faults and simulates power loss.

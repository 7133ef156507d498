//! Load: many event streams and a steady rate of requests, and what they cost.

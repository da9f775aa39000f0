[vehicle]
[poll]
budget_pct = 3
padding = none
[poll.a]
ecu = 18DA42F1 18DAF142
request = 09 02
driving_s = 0.5
charging_s = 2
parked_s = 60
timeout_ms = 50
pending_ms = 2000
answer_bytes = 20
odometer = 1:8 le signed * -0.5 + 7 mi
ignition = 3.7

; Any electric car through the standard OBD-II PIDs (SAE J1979 mode 01),
; read from the first emissions ECU (physical request id 0x7E0, answer
; 0x7E8; ISO 15765-4). Sources and what could not be confirmed: README.md.
; Many electric cars answer few mode-01 PIDs: eco2d's log names every PID
; the ECU refuses (once) and every one it leaves unanswered.
[vehicle]
name = Generic OBD-II electric vehicle (SAE J1979)

[poll.odometer]
; PID A6 odometer: 4 bytes, 0.1 km per bit
ecu = 7E0 7E8
request = 01 A6
driving_s = 5
charging_s = 0
parked_s = 0
odometer = 0:4 * 0.1 km

[poll.speed]
; PID 0D vehicle speed: 1 byte, km/h
ecu = 7E0 7E8
request = 01 0D
driving_s = 1
charging_s = 0
parked_s = 0
speed = 0:1 km/h

[poll.battery]
; PID 9A hybrid/EV battery: byte 0 support bits, byte 1 status, bytes 2-3
; voltage 1/64 V per bit, bytes 4-5 current 0.1 A per bit offset -3276.8 A
ecu = 7E0 7E8
request = 01 9A
driving_s = 1
charging_s = 0
parked_s = 0
answer_bytes = 8
pack_voltage = 2:2 * 0.015625 V
pack_current = 4:2 * 0.1 - 3276.8 A

[options]
; The sign of PID 9A's current could not be confirmed from a public
; source (README.md): check that driving gives V*I > 0 before trusting it.
current_positive = discharge

; Hyundai Kona Electric (2018-), from the published layout in can/profiles/README.md.
[vehicle]
name = Hyundai Kona Electric
dbc = hyundai-kona-ev.dbc

[signals]
odometer = CLU_5D0.Odometer
pack_voltage = BMS_595.VBatt
pack_current = BMS_595.IBatt

[options]
; Hyundai's BMS reports battery current positive while discharging.
current_positive = discharge

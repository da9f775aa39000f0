; Nissan Leaf AZE0 (2013-2017, EV-CAN), from the published layout in can/profiles/README.md.
[vehicle]
name = Nissan Leaf (AZE0)
dbc = nissan-leaf-aze0.dbc

[signals]
odometer = VCM_5C5.Odometer
; the 1 km odometer needs speed to measure short trips
speed = ABS_284.VehicleSpeed
pack_voltage = LBC_1DB.LB_Total_Voltage
pack_current = LBC_1DB.LB_Current

[options]
; The battery controller counts current into the pack as positive.
current_positive = charge

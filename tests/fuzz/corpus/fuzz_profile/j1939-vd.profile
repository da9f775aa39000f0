[vehicle]
j1939 = builtin
[signals]
odometer = VD.TotalVehicleDistance
speed = CCVS1.WheelBasedVehicleSpeed
speed_unit = MPH
[options]
current_positive = charge

[vehicle]
dbc = reference.dbc
j1939 = builtin
[signals]
odometer = VCU_Odometer.Odometer
odometer_unit = mi
speed = VCU_Odometer.Odometer
[engine]
x=1

; The simulator's reference vehicle (eco2-sim's default). Messages, rates
; and resolutions are documented in reference.dbc and README.md.
[vehicle]
name = eco2 reference EV
dbc = reference.dbc

[signals]
odometer = VCU_Odometer.Odometer
speed = VCU_Speed.VehicleSpeed
pack_voltage = BMS_Pack.PackVoltage
pack_current = BMS_Pack.PackCurrent
ignition = VCU_Status.Ignition
charging = VCU_Status.Charging

[options]
current_positive = discharge

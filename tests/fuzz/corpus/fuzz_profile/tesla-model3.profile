; Tesla Model 3 (vehicle CAN), from the published layout in can/profiles/README.md.
[vehicle]
name = Tesla Model 3
dbc = tesla-model3.dbc

[signals]
odometer = UIOdometer.Odometer
pack_voltage = HVBattAmpVolt.BattVoltage
pack_current = HVBattAmpVolt.SmoothBattCurrent
discharge_energy_total = BMSCounters.TotalDriveDischarge
regen_energy_total = BMSCounters.TotalRegenCharge

[options]
; SmoothBattCurrent's factor is -0.1: the physical value is positive while
; the pack discharges.
current_positive = discharge

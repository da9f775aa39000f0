; The reference vehicle read through its lifetime energy counters (1 Wh
; resolution, 1 Hz) instead of V*I: for testing the counter path of the
; trip calculator with eco2-sim --profile reference-counters.
[vehicle]
name = eco2 reference EV (energy counters)
dbc = reference.dbc

[signals]
odometer = VCU_Odometer.Odometer
speed = VCU_Speed.VehicleSpeed
discharge_energy_total = BMS_Energy.DischargeEnergyTotal
regen_energy_total = BMS_Energy.RegenEnergyTotal
ignition = VCU_Status.Ignition
charging = VCU_Status.Charging

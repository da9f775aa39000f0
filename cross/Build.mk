# cross/ — cross builds, target tests under qemu, packaging checks.
itests-y += tests/integration/cross_vm_smoke.sh

include $(sort $(wildcard $(BR2_EXTERNAL_ECO2_PATH)/package/*/*.mk))

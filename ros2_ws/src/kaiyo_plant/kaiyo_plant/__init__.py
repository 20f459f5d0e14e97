"""Wave-power plant monitoring, sea-state analysis and plant simulator."""

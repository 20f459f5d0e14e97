"""State estimation (EKF) for kaiyo vehicles."""

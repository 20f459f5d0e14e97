"""Seabed image analysis: classes, cover, urchins, isoyake index, survey maps."""

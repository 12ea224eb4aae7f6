"""What a trained run learned (evaluation, metrics, CAM), and how runs compare (stats)."""

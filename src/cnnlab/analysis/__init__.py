"""What a trained run learned, and how runs compare."""

"""Beyond plain fine-tuning: domain adaptation (CORAL, DANN) and adversarial training (FGSM)."""

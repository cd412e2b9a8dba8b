"""The pure AWS parts: profile sections (``config``), Cognito's SRP maths, cost estimates."""

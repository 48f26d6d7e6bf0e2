// MathCheck

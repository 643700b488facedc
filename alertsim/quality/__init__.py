"""Alert quality: detection scoring, NAB, fatigue, response times and fairness."""

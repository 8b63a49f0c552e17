"""亮清单: the list of help, dated standards, eligibility rules and the questionnaire."""

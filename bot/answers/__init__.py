"""The resident's own words: typed answers wherever buttons offer them, navigation
words, 市州/区县 names with or without their suffixes, ranges like 两三千."""

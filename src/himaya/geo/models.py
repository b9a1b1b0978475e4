"""Geography of Morocco: regions, provinces, communes, census (issue 3)."""

"""Reading raw labeled files and preparing them into split, cleaned datasets."""

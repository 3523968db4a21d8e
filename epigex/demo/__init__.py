"""The demo dataset: real course genes and labels with simulated tracks, in the course layout."""

"""The Structure-Aligned (SA) representation: a song as a table of rows x 4 attribute columns."""

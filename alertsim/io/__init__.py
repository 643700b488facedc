"""Readers and writers: metrics and incident files, run directories, vendor exports."""

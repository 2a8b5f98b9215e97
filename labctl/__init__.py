"""labctl: regional Internet-exchange labs on containerlab with FRR and BIRD."""

__version__ = "0.1.0"

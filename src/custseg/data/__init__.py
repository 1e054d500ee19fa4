"""Load customer tables and validate them into a numeric feature matrix."""

from .demo import make_customers
from .loading import LoadedTable, load_table
from .prepare import PreparedData, prepare

__all__ = ["LoadedTable", "PreparedData", "load_table", "make_customers", "prepare"]

"""hscredit-xl: 黄石市县（市）区社会信用体系建设工作考核评价 in Excel."""
__version__ = "0.1.0"

"""Print every non-empty cell of an XLSX workbook, one per line.

Line format: SHEET!CELL<TAB>TYPE<TAB>VALUE, where TYPE is openpyxl's
data_type ('n' number, 's' string, 'f' formula, ...) and numbers are
printed with repr(), which round-trips a double exactly. The first line
lists the sheet names: "sheets<TAB>NAME<TAB>NAME..."; then one line per
sheet "panes<TAB>SHEET<TAB>CELL" with the first unfrozen cell, and
"filter<TAB>SHEET<TAB>RANGE" for an autofilter. test_render.c reads
this output; it runs with Debian's /usr/bin/python3, which has openpyxl.
"""
import sys

import openpyxl


def main():
    wb = openpyxl.load_workbook(sys.argv[1])
    print("sheets\t" + "\t".join(wb.sheetnames))
    for ws in wb.worksheets:
        print(f"panes\t{ws.title}\t{ws.freeze_panes}")
        if ws.auto_filter.ref:
            print(f"filter\t{ws.title}\t{ws.auto_filter.ref}")
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if cell.value is None:
                    continue
                if cell.data_type == "n":
                    value = repr(cell.value)
                else:
                    value = str(cell.value).replace("\t", " ")
                    value = value.replace("\n", " ")
                print(f"{ws.title}!{cell.coordinate}\t{cell.data_type}\t"
                      f"{value}")


if __name__ == "__main__":
    main()

// Writes the workbooks of importer/testdata/writers with npm's exceljs and
// xlsx (SheetJS), so the reader is tested on files from writers we did not
// write. Not run by CI; regenerate with:
//   cd /tmp/x && npm install exceljs xlsx && TZ=UTC NODE_PATH=/tmp/x/node_modules node gen.js
// (xlsx 0.18.5, exceljs 4.4.0)
// score-libreoffice.xlsx is a CSV of the same rows opened by LibreOffice Calc
// (Debian) with typed columns and saved as XLSX:
//   soffice --headless --infilter="CSV:44,34,76,1,1/2/2/2/3/1/4/5/5/1/6/2/7/2/8/2/9/5/10/1/11/1/12/1" \
//     --convert-to xlsx:"Calc MS Excel 2007 XML" score-libreoffice.csv
// score-sheetjs-dates.xlsx is the same rows by SheetJS with cellDates on
// writing: its datetimes are t="d" cells, ISO 8601 text with a Z suffix that
// holds the writing machine's wall-clock time, not UTC: the Date of local
// 10:05:03 is written "2024-11-01T10:05:03.000Z" under TZ=Asia/Shanghai, and
// the Date.UTC fields below are the wall time only under TZ=UTC, so run it
// with TZ=UTC. SheetJS reads such a cell back as that local time; LibreOffice 7.4 (Debian) shows such a
// cell as written, 10:05:03, whatever TZ (checked with
//   libreoffice --headless --convert-to csv score-sheetjs-dates.xlsx
// ); a cell with a non-zero offset (+08:00) it shows converted to UTC
// (02:05:03), which is neither what was written nor China time. exceljs
// writes no t="d" cells (a Date becomes a serial number, as above).
// The expected values are in importer/writers_test.go.
const ExcelJS = require('exceljs');
const XLSX = require('xlsx');

const header = ['交易ID', '会员卡号ID', '积分事件', '消费时间', '消费金额', '消费商户', '交易流水号', 'pos机编号', '退货时间', '退货金额', '积分值', '支付方式'];
// China time as a wall clock: JS Dates are UTC instants; exceljs and SheetJS
// write a Date's UTC fields as the serial, so build them with Date.UTC.
const d = (y, mo, da, h, mi, s) => new Date(Date.UTC(y, mo - 1, da, h, mi, s));
const rows = [
  ['T1001', '0201710000001', 1, d(2024, 11, 1, 10, 5, 3), 1280.5, 'S0012', 'SN-1', 'POS01', null, null, 1280, 12],
  ['T1002', '0201710000002', 1, d(2024, 11, 1, 23, 59, 59), 100.1, 'S0023', null, null, null, null, 100, null],
  ['T1003', '0201710000001', 2101, d(2024, 11, 2, 9, 0, 0), 1280.5, 'S0012', 'SN-1', null, d(2024, 11, 2, 9, 30, 0), 200.25, -200, null],
  ['T1004', '201710000009', 1, d(2024, 11, 3, 0, 0, 1), 0.07, 'S0099', null, null, null, null, 0, null],
];

async function exceljs(name, date1904) {
  const wb = new ExcelJS.Workbook();
  if (date1904) wb.properties.date1904 = true;
  const ws = wb.addWorksheet('score');
  ws.addRow(header);
  for (const r of rows) ws.addRow(r);
  for (const c of [4, 9]) ws.getColumn(c).numFmt = 'yyyy-mm-dd hh:mm:ss';
  // An instructions sheet, as CRM exports often carry.
  wb.addWorksheet('说明').addRow(['本文件由 exceljs 生成']);
  await wb.xlsx.writeFile(name);
}

function sheetjs(name) {
  const aoa = [header, ...rows];
  const ws = XLSX.utils.aoa_to_sheet(aoa, { cellDates: true, dateNF: 'yyyy-mm-dd hh:mm:ss', UTC: true });
  const wb = XLSX.utils.book_new();
  XLSX.utils.book_append_sheet(wb, ws, 'score');
  XLSX.writeFile(wb, name, { bookSST: true, cellDates: false });
}

function sheetjsDates(name) {
  const ws = XLSX.utils.aoa_to_sheet([header, ...rows], { cellDates: true, dateNF: 'yyyy-mm-dd hh:mm:ss', UTC: true });
  const wb = XLSX.utils.book_new();
  XLSX.utils.book_append_sheet(wb, ws, 'score');
  XLSX.writeFile(wb, name, { bookSST: true, cellDates: true });
}

(async () => {
  await exceljs('score-exceljs.xlsx', false);
  await exceljs('score-exceljs-1904.xlsx', true);
  sheetjs('score-sheetjs.xlsx');
  sheetjsDates('score-sheetjs-dates.xlsx');
})();

// Proves the statement's CSV cells (shared/usage/statement-csv.ts, shared/currency.ts): RFC 4180
// quoting, formula injection neutralised in text cells (= + - @ tab CR), money written as exact
// decimals of the currency's minor unit and never prefixed. Pure functions, no database.
import { decimalOf, minorUnitDigits } from '../../shared/currency';
import { csvHeader, csvLine, moneyCell, textCell } from '../../shared/usage/statement-csv';

describe('statement CSV cells', () => {
  it.each([
    ['plain', 'plain'],
    ['=1+1', "'=1+1"],
    ['+44 20 7946 0000', "'+44 20 7946 0000"],
    ['-2', "'-2"],
    ['@SUM(A1)', "'@SUM(A1)"],
    ['\tx', "'\tx"],
    ['a,b', '"a,b"'],
    ['say "hi"', '"say ""hi"""'],
    ['=HYPERLINK("http://x","y")', `"'=HYPERLINK(""http://x"",""y"")"`],
    ['line\nbreak', '"line\nbreak"'],
  ])('writes the text %j as %s', (text, cell) => {
    expect(textCell(text)).toBe(cell);
  });

  it('writes null as an empty cell', () => {
    expect(textCell(null)).toBe('');
    expect(moneyCell(null, 'gbp')).toBe('');
  });

  it('writes money as exact decimals of the currency, negative amounts unprefixed', () => {
    expect([moneyCell(1234, 'gbp'), moneyCell(-1234, 'gbp'), moneyCell(5, 'gbp'), moneyCell(-5, 'usd'), moneyCell(0, 'eur')]).toEqual(['12.34', '-12.34', '0.05', '-0.05', '0.00']);
    expect([decimalOf(1234, 'jpy'), decimalOf(-1234, 'kwd'), decimalOf(9_007_199_254_740_991, 'gbp')]).toEqual(['1234', '-1.234', '90071992547409.91']);
    expect([minorUnitDigits('gbp'), minorUnitDigits('jpy'), minorUnitDigits('bhd')]).toEqual([2, 0, 3]);
    expect(() => decimalOf(1.5, 'gbp')).toThrow(/integer/);
  });

  it('writes a header and one CRLF line per row', () => {
    expect(csvHeader()).toBe('date,kind,reference,description,amount,balance_after\r\n');
    expect(csvLine({ date: '2026-11-01T10:00:00.000Z', kind: 'call', reference: 'call c1: 60000.000 ms', description: 'Call', amount: -56, balanceAfter: 4944 }, 'gbp')).toBe(
      '2026-11-01T10:00:00.000Z,call,call c1: 60000.000 ms,Call,-0.56,49.44\r\n',
    );
  });
});

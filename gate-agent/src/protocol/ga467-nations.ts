/**
 * Ethnic-group codes (民族代码, GB/T 3304-1991) as stored in the 4-byte "nation" field of a
 * resident ID card: two ASCII digits in UCS-2LE. The card carries only the code; the reader
 * SDKs all ship this table, and so do we, so logs and `gatectl` can show a name.
 *
 * 97 and 98 are not ethnic groups but appear in the same field on real cards
 * ("other, unrecognised" and "Chinese citizen of foreign origin").
 */
export const ETHNIC_GROUPS = [
  { code: '01', name: '汉' },
  { code: '02', name: '蒙古' },
  { code: '03', name: '回' },
  { code: '04', name: '藏' },
  { code: '05', name: '维吾尔' },
  { code: '06', name: '苗' },
  { code: '07', name: '彝' },
  { code: '08', name: '壮' },
  { code: '09', name: '布依' },
  { code: '10', name: '朝鲜' },
  { code: '11', name: '满' },
  { code: '12', name: '侗' },
  { code: '13', name: '瑶' },
  { code: '14', name: '白' },
  { code: '15', name: '土家' },
  { code: '16', name: '哈尼' },
  { code: '17', name: '哈萨克' },
  { code: '18', name: '傣' },
  { code: '19', name: '黎' },
  { code: '20', name: '傈僳' },
  { code: '21', name: '佤' },
  { code: '22', name: '畲' },
  { code: '23', name: '高山' },
  { code: '24', name: '拉祜' },
  { code: '25', name: '水' },
  { code: '26', name: '东乡' },
  { code: '27', name: '纳西' },
  { code: '28', name: '景颇' },
  { code: '29', name: '柯尔克孜' },
  { code: '30', name: '土' },
  { code: '31', name: '达斡尔' },
  { code: '32', name: '仫佬' },
  { code: '33', name: '羌' },
  { code: '34', name: '布朗' },
  { code: '35', name: '撒拉' },
  { code: '36', name: '毛南' },
  { code: '37', name: '仡佬' },
  { code: '38', name: '锡伯' },
  { code: '39', name: '阿昌' },
  { code: '40', name: '普米' },
  { code: '41', name: '塔吉克' },
  { code: '42', name: '怒' },
  { code: '43', name: '乌孜别克' },
  { code: '44', name: '俄罗斯' },
  { code: '45', name: '鄂温克' },
  { code: '46', name: '德昂' },
  { code: '47', name: '保安' },
  { code: '48', name: '裕固' },
  { code: '49', name: '京' },
  { code: '50', name: '塔塔尔' },
  { code: '51', name: '独龙' },
  { code: '52', name: '鄂伦春' },
  { code: '53', name: '赫哲' },
  { code: '54', name: '门巴' },
  { code: '55', name: '珞巴' },
  { code: '56', name: '基诺' },
  { code: '97', name: '其他' },
  { code: '98', name: '外国血统中国籍人士' },
] as const;

const BY_CODE = new Map<string, string>(ETHNIC_GROUPS.map((g) => [g.code, g.name]));

/** Name for a two-digit code, or null if the card holds something outside the table. */
export function ethnicGroupName(code: string): string | null {
  return BY_CODE.get(code) ?? null;
}

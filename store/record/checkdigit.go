package record

// MyNumberCheckDigit returns the check digit of a 個人番号 from its first 11 digits
// (総務省令第85号 第5条), or -1 if first11 is not 11 ASCII digits.
func MyNumberCheckDigit(first11 string) int {
	if len(first11) != 11 || !allDigits(first11) {
		return -1
	}
	sum := 0
	for n := 1; n <= 11; n++ {
		p := int(first11[11-n] - '0')
		q := n + 1
		if n >= 7 {
			q = n - 5
		}
		sum += p * q
	}
	r := sum % 11
	if r <= 1 {
		return 0
	}
	return 11 - r
}

// ValidMyNumber reports whether s is 12 digits with a valid check digit.
func ValidMyNumber(s string) bool {
	return len(s) == 12 && allDigits(s) && MyNumberCheckDigit(s[:11]) == int(s[11]-'0')
}

// MunicipalityCheckDigit returns the JIS X 0402 check digit of a five-digit
// municipality code, or -1 if it is not five ASCII digits.
func MunicipalityCheckDigit(five string) int {
	if len(five) != 5 || !allDigits(five) {
		return -1
	}
	sum := 0
	for i, w := range []int{6, 5, 4, 3, 2} {
		sum += int(five[i]-'0') * w
	}
	return (11 - sum%11) % 10
}

// ValidMunicipalityCode reports whether s is six digits with a valid check digit.
func ValidMunicipalityCode(s string) bool {
	return len(s) == 6 && allDigits(s) && MunicipalityCheckDigit(s[:5]) == int(s[5]-'0')
}

// ValidResidentCode reports whether s is a 住民票コード: 11 digits. Its check digit
// follows a formula that is not public, so only the form is checked.
func ValidResidentCode(s string) bool { return len(s) == 11 && allDigits(s) }

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

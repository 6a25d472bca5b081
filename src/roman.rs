//! Roman numerals, as acts number their annexes (`allegato IV`).

/// The number a Roman numeral stands for (`IV` is 4).
pub fn value(numeral: &str) -> u32 {
    let digit = |c: char| match c {
        'I' => 1,
        'V' => 5,
        'X' => 10,
        'L' => 50,
        'C' => 100,
        'D' => 500,
        'M' => 1000,
        _ => 0,
    };
    let digits: Vec<i64> = numeral.chars().map(digit).collect();
    let total: i64 = (digits.iter().enumerate())
        .map(|(i, d)| match digits.get(i + 1) {
            Some(next) if next > d => -d,
            _ => *d,
        })
        .sum();
    u32::try_from(total.max(0)).unwrap_or(u32::MAX)
}

/// `n` written as a Roman numeral (4 is `IV`); 0 as `0`.
pub fn numeral(mut n: u32) -> String {
    if n == 0 {
        return "0".into();
    }
    const DIGITS: [(u32, &str); 13] = [
        (1000, "M"),
        (900, "CM"),
        (500, "D"),
        (400, "CD"),
        (100, "C"),
        (90, "XC"),
        (50, "L"),
        (40, "XL"),
        (10, "X"),
        (9, "IX"),
        (5, "V"),
        (4, "IV"),
        (1, "I"),
    ];
    let mut out = String::new();
    for (v, s) in DIGITS {
        while n >= v {
            out.push_str(s);
            n -= v;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_and_writes_numerals() {
        for (n, s) in [
            (1, "I"),
            (4, "IV"),
            (9, "IX"),
            (14, "XIV"),
            (1999, "MCMXCIX"),
        ] {
            assert_eq!(super::value(s), n);
            assert_eq!(super::numeral(n), s);
        }
    }
}

//! IP lists against a brute-force oracle: a hundred thousand random prefixes
//! in three lists, and addresses in and around them.

use super::*;

/// A small deterministic generator (xorshift64*), so the oracle test needs no crate.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

#[test]
fn a_hundred_thousand_prefixes_agree_with_a_brute_force_oracle() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let names = ["drop", "tor", "vpn"];
    // (list, is_v4, network bits, prefix length)
    let mut entries: Vec<(usize, bool, u128, u32)> = Vec::new();
    let mut specs = Vec::new();
    for (li, name) in names.iter().enumerate() {
        let mut text = String::from("# generated netset\n");
        for _ in 0..34_000 {
            let r = rng.next();
            if r.is_multiple_of(10) {
                // IPv6 under 2001:db8::/32, /40 to /128.
                let len = 40 + (r >> 8) as u32 % 89;
                let bits = (0x2001_0db8u128 << 96) | (u128::from(rng.next()) << 32);
                let mask = if len == 128 {
                    u128::MAX
                } else {
                    !(u128::MAX >> len)
                };
                let net = bits & mask;
                text.push_str(&format!("{}/{len}\n", std::net::Ipv6Addr::from(net)));
                entries.push((li, false, net, len));
            } else {
                // IPv4 in 10.0.0.0/8 so prefixes overlap across lists, /12 to /32.
                let len = 12 + (r >> 8) as u32 % 21;
                let bits = 0x0a00_0000u32 | (rng.next() as u32 & 0x00ff_ffff);
                let net = bits & !(u32::MAX.checked_shr(len).unwrap_or(0));
                text.push_str(&format!("{}/{len}\n", std::net::Ipv4Addr::from(net)));
                entries.push((li, true, u128::from(net), len));
            }
        }
        let path = dir.path().join(format!("{name}.netset"));
        std::fs::write(&path, text).unwrap();
        specs.push(ListSpec {
            name: Arc::from(*name),
            path,
        });
    }
    assert!(entries.len() >= 100_000);
    let lists = IpLists::load(&specs).unwrap();
    let oracle = |addr: IpAddr| -> Vec<String> {
        let (v4, x) = match addr {
            IpAddr::V4(a) => (true, u128::from(u32::from(a))),
            IpAddr::V6(a) => (false, u128::from(a)),
        };
        let width = if v4 { 32 } else { 128 };
        let mut hit = [false; 3];
        for (li, e4, net, len) in &entries {
            if *e4 == v4 && (*len == 0 || (x ^ net) >> (width - len) == 0) {
                hit[*li] = true;
            }
        }
        (0..3)
            .filter(|i| hit[*i])
            .map(|i| names[i].to_string())
            .collect()
    };
    let mut nonempty = 0;
    for k in 0..3_000 {
        let addr = if k % 3 == 0 {
            // A network's own first or last address, where off-by-ones hide.
            let (_, v4, net, len) = entries[rng.next() as usize % entries.len()];
            if v4 {
                let last = net | (u128::from(u32::MAX) >> len);
                IpAddr::V4(std::net::Ipv4Addr::from(
                    if k % 2 == 0 { net } else { last + 1 } as u32,
                ))
            } else {
                IpAddr::V6(std::net::Ipv6Addr::from(net))
            }
        } else if k % 3 == 1 {
            IpAddr::V4(std::net::Ipv4Addr::from(
                0x0a00_0000u32 | (rng.next() as u32 & 0x00ff_ffff),
            ))
        } else {
            IpAddr::V6(std::net::Ipv6Addr::from(
                (0x2001_0db8u128 << 96) | u128::from(rng.next()) << 32,
            ))
        };
        let got: Vec<String> = lists
            .lists_for(addr)
            .iter()
            .map(|n| n.to_string())
            .collect();
        let want = oracle(addr);
        nonempty += usize::from(!want.is_empty());
        assert_eq!(got, want, "{addr}");
    }
    assert!(
        nonempty > 500,
        "the queries must exercise hits too ({nonempty})"
    );
}

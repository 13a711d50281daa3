//! Email allocation for a plan: which listed users may have the address they ask for, so
//! that no two accounts of a connection ever share one, not even between two batches.

use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};

use crate::store::User;

/// Which listed users get the email they ask for, and the order of email changes.
pub struct EmailGrants {
    /// Per listed user.
    pub granted: Vec<bool>,
    /// Listed users whose email changes, in a safe order.
    pub order: Vec<usize>,
}

/// Grants emails so no two accounts ever share one, even mid-apply.
///
/// A stored user keeping its address holds it. A change to an address held by another stored
/// user waits until that user's own change is granted (chains resolve; swaps stay conflicts).
/// New users get only addresses nobody holds or was granted. `keys` are the listed users'
/// address keys ([`crate::store::email_key`]), in listing order.
pub fn allocate_emails(
    stored: &[User],
    by_email: &HashMap<&str, usize>,
    matches: &[Option<usize>],
    keys: &[String],
) -> EmailGrants {
    let mut granted = vec![false; keys.len()];
    let mut order = Vec::new();
    let mut claimed: HashSet<&str> = HashSet::new();
    let mut vacated: HashSet<&str> = HashSet::new();
    // Stored users changing their address: stored index -> listed position.
    let mut changing: HashMap<usize, usize> = HashMap::new();

    for (position, matched) in matches.iter().enumerate() {
        if let Some(index) = *matched {
            if stored[index].email_key == keys[position] {
                granted[position] = true;
                claimed.insert(&keys[position]);
            } else {
                changing.insert(index, position);
            }
        }
    }

    // Worklist over changes: try each; a change blocked by a holder that is itself changing
    // waits for that holder's address to be vacated.
    let mut waiting: HashMap<&str, Vec<usize>> = HashMap::new();
    let mut queue: Vec<usize> = {
        let mut start: Vec<usize> = changing.values().copied().collect();
        start.sort_unstable_by(|a, b| b.cmp(a));
        start
    };
    while let Some(position) = queue.pop() {
        let key = keys[position].as_str();
        if claimed.contains(key) {
            continue;
        }
        let free = match by_email.get(key) {
            None => true,
            Some(_) if vacated.contains(key) => true,
            Some(holder) if changing.contains_key(holder) => {
                waiting.entry(key).or_default().push(position);
                false
            }
            Some(_) => false,
        };
        if !free {
            continue;
        }
        granted[position] = true;
        claimed.insert(key);
        order.push(position);
        if let Some(index) = matches[position] {
            let old = stored[index].email_key.as_str();
            vacated.insert(old);
            if let Some(mut woken) = waiting.remove(old) {
                woken.sort_unstable_by(|a, b| b.cmp(a));
                queue.extend(woken);
            }
        }
    }

    // New users last: only addresses nobody holds, was granted, or gave up.
    for (position, matched) in matches.iter().enumerate() {
        if matched.is_some() {
            continue;
        }
        let key = keys[position].as_str();
        let held = by_email.contains_key(key) && !vacated.contains(key);
        if !held && !key.is_empty() && claimed.insert(key) {
            granted[position] = true;
        }
    }
    EmailGrants { granted, order }
}

//! Deterministic demo data: the same seed gives the same shop, byte for byte.
//!
//! ChaCha8 is used because its output is specified and stable across `rand` releases,
//! unlike `StdRng`, so a seed written in a test or a bug report keeps meaning the same data.

use std::time::{Duration, SystemTime};

use rand::{Rng, SeedableRng, seq::IndexedRandom};
use rand_chacha::ChaCha8Rng;

use super::model::{
    Currency, LineItem, Notification, Order, OrderStatus, Payment, PaymentMethod, PaymentStatus,
    Product, Tier, User, round_cents,
};

/// How much data to generate. The default is the demo shop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DatasetSize {
    pub users: u64,
    pub orders: u64,
    /// Notifications per user, on average.
    pub notifications_per_user: u64,
}

impl Default for DatasetSize {
    fn default() -> Self {
        DatasetSize {
            users: 5_000,
            orders: 50_000,
            notifications_per_user: 6,
        }
    }
}

/// Everything the four services start with.
#[derive(Debug, Clone)]
pub struct Dataset {
    pub users: Vec<User>,
    pub orders: Vec<Order>,
    pub payments: Vec<Payment>,
    pub notifications: Vec<Notification>,
    pub products: Vec<Product>,
}

/// Seconds since the Unix epoch of 2026-01-01T00:00:00Z, where the shop's history starts.
const HISTORY_START: u64 = 1_767_225_600;
/// The seeded history spans 300 days.
const HISTORY_SECONDS: u64 = 300 * 24 * 3600;

const FIRST_NAMES: &[&str] = &[
    "Ada",
    "Alan",
    "Barbara",
    "Claude",
    "Dennis",
    "Edsger",
    "Frances",
    "Grace",
    "Hedy",
    "Ivan",
    "Jean",
    "Ken",
    "Linus",
    "Margaret",
    "Niklaus",
    "Radia",
    "Shafi",
    "Tim",
    "Ursula",
    "Whitfield",
];
const LAST_NAMES: &[&str] = &[
    "Allen",
    "Bartik",
    "Cerf",
    "Dijkstra",
    "Engelbart",
    "Floyd",
    "Goldwasser",
    "Hamilton",
    "Hopper",
    "Knuth",
    "Lamport",
    "Liskov",
    "Lovelace",
    "Perlman",
    "Ritchie",
    "Shannon",
    "Sutherland",
    "Thompson",
    "Turing",
    "Wirth",
];
const COUNTRIES: &[&str] = &["DE", "FR", "GB", "NL", "US", "ES", "IT", "SE", "PL", "CA"];
const PRODUCT_NOUNS: &[&str] = &[
    "Keyboard",
    "Mouse",
    "Monitor",
    "Headset",
    "Webcam",
    "Desk Lamp",
    "USB Hub",
    "Laptop Stand",
    "Notebook",
    "Backpack",
];
const PRODUCT_ADJECTIVES: &[&str] = &["Basic", "Pro", "Ergonomic", "Wireless", "Compact"];
const MESSAGES: &[&str] = &[
    "Your order has shipped",
    "Your order was delivered",
    "A payment needs your attention",
    "New arrivals in your favourite category",
    "Your loyalty tier was updated",
    "Items in your basket are back in stock",
];

/// Formats seconds since the epoch as RFC 3339 (`2026-03-01T12:00:00Z`).
pub fn timestamp(epoch_seconds: u64) -> String {
    let at = SystemTime::UNIX_EPOCH + Duration::from_secs(epoch_seconds);
    humantime::format_rfc3339_seconds(at).to_string()
}

/// The catalogue: every adjective-noun pair, priced deterministically.
fn products() -> Vec<Product> {
    let mut products = Vec::new();
    for (n, noun) in PRODUCT_NOUNS.iter().enumerate() {
        for (a, adjective) in PRODUCT_ADJECTIVES.iter().enumerate() {
            let index = n * PRODUCT_ADJECTIVES.len() + a;
            // Prices between 9.99 and ~250, spread over the catalogue.
            let unit_price = round_cents(9.99 + (index as f64 * 37.31) % 240.0);
            products.push(Product {
                sku: format!("SKU-{:04}", index + 1),
                name: format!("{adjective} {noun}"),
                unit_price,
            });
        }
    }
    products
}

impl Dataset {
    /// Generates the shop for `seed`. Ids start at 1 and are dense.
    pub fn generate(seed: u64, size: DatasetSize) -> Dataset {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let products = products();

        let users: Vec<User> = (1..=size.users)
            .map(|id| {
                let first = FIRST_NAMES.choose(&mut rng).copied().unwrap_or("Ada");
                let last = LAST_NAMES.choose(&mut rng).copied().unwrap_or("Lovelace");
                let tier = match rng.random_range(0..10) {
                    0 => Tier::Gold,
                    1..=2 => Tier::Silver,
                    _ => Tier::Standard,
                };
                User {
                    id,
                    name: format!("{first} {last}"),
                    email: format!(
                        "{}.{}{}@example.com",
                        first.to_lowercase(),
                        last.to_lowercase(),
                        id
                    ),
                    country: COUNTRIES
                        .choose(&mut rng)
                        .copied()
                        .unwrap_or("DE")
                        .to_owned(),
                    tier,
                    created_at: timestamp(HISTORY_START + rng.random_range(0..HISTORY_SECONDS / 4)),
                }
            })
            .collect();

        let mut orders = Vec::with_capacity(size.orders as usize);
        let mut payments = Vec::with_capacity(size.orders as usize);
        for id in 1..=size.orders {
            let user_id = rng.random_range(1..=size.users.max(1));
            let currency = *[Currency::EUR, Currency::USD, Currency::GBP]
                .choose(&mut rng)
                .unwrap_or(&Currency::EUR);
            let items: Vec<LineItem> = (0..rng.random_range(1..=4))
                .map(|_| {
                    let product = &products[rng.random_range(0..products.len())];
                    LineItem {
                        sku: product.sku.clone(),
                        name: product.name.clone(),
                        quantity: rng.random_range(1..=3),
                        unit_price: product.unit_price,
                    }
                })
                .collect();
            let total = round_cents(
                items
                    .iter()
                    .map(|item| item.unit_price * f64::from(item.quantity))
                    .sum(),
            );
            let placed_at = HISTORY_START + rng.random_range(HISTORY_SECONDS / 4..HISTORY_SECONDS);

            // ~85% paid (then shipped/delivered), ~5% with a failed payment, ~4% with a pending
            // one, the rest never paid (pending or cancelled orders without a payment).
            let roll = rng.random_range(0..100);
            let (status, payment_status) = match roll {
                0..=84 => (
                    *[
                        OrderStatus::Paid,
                        OrderStatus::Shipped,
                        OrderStatus::Delivered,
                    ]
                    .choose(&mut rng)
                    .unwrap_or(&OrderStatus::Paid),
                    Some(PaymentStatus::Succeeded),
                ),
                85..=89 => (OrderStatus::Pending, Some(PaymentStatus::Failed)),
                90..=93 => (OrderStatus::Pending, Some(PaymentStatus::Pending)),
                94..=96 => (OrderStatus::Pending, None),
                _ => (OrderStatus::Cancelled, None),
            };
            if let Some(payment_status) = payment_status {
                let method = *[
                    PaymentMethod::Card,
                    PaymentMethod::Paypal,
                    PaymentMethod::BankTransfer,
                ]
                .choose(&mut rng)
                .unwrap_or(&PaymentMethod::Card);
                payments.push(Payment {
                    id: payments.len() as u64 + 1,
                    order_id: id,
                    status: payment_status,
                    method,
                    amount: total,
                    currency,
                    created_at: timestamp(placed_at + rng.random_range(1..3600)),
                });
            }
            orders.push(Order {
                id,
                user_id,
                status,
                total,
                currency,
                items,
                created_at: timestamp(placed_at),
            });
        }

        let mut notifications = Vec::new();
        for user in &users {
            let count = rng.random_range(0..=size.notifications_per_user * 2);
            for _ in 0..count {
                notifications.push(Notification {
                    id: notifications.len() as u64 + 1,
                    user_id: user.id,
                    message: MESSAGES
                        .choose(&mut rng)
                        .copied()
                        .unwrap_or("Hello")
                        .to_owned(),
                    read: rng.random_bool(0.6),
                    created_at: timestamp(HISTORY_START + rng.random_range(0..HISTORY_SECONDS)),
                });
            }
        }

        Dataset {
            users,
            orders,
            payments,
            notifications,
            products,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_data_other_seed_other_data() {
        let size = DatasetSize {
            users: 50,
            orders: 400,
            notifications_per_user: 3,
        };
        let a = Dataset::generate(7, size);
        let b = Dataset::generate(7, size);
        let c = Dataset::generate(8, size);
        assert_eq!(a.users, b.users);
        assert_eq!(a.orders, b.orders);
        assert_eq!(a.payments, b.payments);
        assert_eq!(a.notifications, b.notifications);
        assert_ne!(a.orders, c.orders);
    }

    #[test]
    fn default_size_has_the_promised_shape() {
        let data = Dataset::generate(42, DatasetSize::default());
        assert_eq!(data.users.len(), 5_000);
        assert_eq!(data.orders.len(), 50_000);
        let paid_share = data.payments.len() as f64 / data.orders.len() as f64;
        assert!(
            (0.85..0.97).contains(&paid_share),
            "payments for most orders: {paid_share}"
        );
        assert!(
            data.payments
                .iter()
                .any(|p| p.status == PaymentStatus::Failed)
        );
        assert!(
            data.payments
                .iter()
                .any(|p| p.status == PaymentStatus::Pending)
        );
        assert!(data.notifications.iter().any(|n| n.read));
        assert!(data.notifications.iter().any(|n| !n.read));
        assert_eq!(timestamp(HISTORY_START), "2026-01-01T00:00:00Z");
    }
}

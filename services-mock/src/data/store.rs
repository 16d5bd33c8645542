//! The shop's state, shared by the four services of one process.
//!
//! The services are separate HTTP servers, but a process that runs several of them shares one
//! store, so that placing an order (orders service) raises a notification (notifications
//! service) the way a real shop's event bus would.

use std::{
    collections::HashMap,
    sync::{RwLock, RwLockReadGuard, RwLockWriteGuard},
    time::{SystemTime, UNIX_EPOCH},
};

use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

use super::{
    model::{
        Currency, LineItem, Notification, Order, OrderStatus, Payment, PaymentMethod,
        PaymentStatus, Product, User, round_cents,
    },
    seed::{Dataset, timestamp},
};

/// Pagination of a list endpoint, validated by the HTTP layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub limit: usize,
    pub offset: usize,
}

/// One page of a list, with the size of the whole list.
#[derive(Debug, Clone, Serialize)]
pub struct Paged<T> {
    pub items: Vec<T>,
    pub total: usize,
    pub limit: usize,
    pub offset: usize,
}

/// The body of `POST /orders`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewOrder {
    pub user_id: u64,
    pub items: Vec<NewLineItem>,
    #[serde(default)]
    pub currency: Option<Currency>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewLineItem {
    pub sku: String,
    pub quantity: u32,
}

/// The body of `POST /payments`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewPayment {
    pub order_id: u64,
    pub method: PaymentMethod,
}

/// Why a write was refused; the HTTP layer maps each to a status.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum StoreError {
    #[error("{resource} {id} does not exist")]
    Missing { resource: &'static str, id: String },
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Conflict(String),
}

struct Orders {
    rows: Vec<Order>,
    /// Order ids per user, ascending.
    by_user: HashMap<u64, Vec<u64>>,
}

struct Payments {
    rows: Vec<Payment>,
    by_order: HashMap<u64, Vec<u64>>,
}

struct Notifications {
    rows: Vec<Notification>,
    by_user: HashMap<u64, Vec<u64>>,
}

/// How many undelivered events a slow stream subscriber may fall behind before it skips.
const EVENT_BUFFER: usize = 1024;

/// The shop's state. Ids are dense and start at 1, so a row is found at `id - 1`.
pub struct Store {
    users: Vec<User>,
    products: HashMap<String, Product>,
    /// The catalogue by SKU, for paging.
    catalogue: Vec<Product>,
    orders: RwLock<Orders>,
    payments: RwLock<Payments>,
    notifications: RwLock<Notifications>,
    events: broadcast::Sender<Notification>,
}

fn index_by<T>(rows: &[T], key: impl Fn(&T) -> (u64, u64)) -> HashMap<u64, Vec<u64>> {
    let mut index: HashMap<u64, Vec<u64>> = HashMap::new();
    for row in rows {
        let (group, id) = key(row);
        index.entry(group).or_default().push(id);
    }
    index
}

fn row<T: Clone>(rows: &[T], id: u64) -> Option<T> {
    let index = usize::try_from(id).ok()?.checked_sub(1)?;
    rows.get(index).cloned()
}

/// Locks never stay poisoned here: a panic while holding one cannot leave a half-written row
/// because every write is a single push or field assignment.
fn read<T>(lock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn write<T>(lock: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    lock.write()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn now() -> String {
    let seconds = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    timestamp(seconds)
}

/// Pages `ids` (already in list order) and loads each row.
fn page_of<T>(ids: &[u64], page: Page, load: impl Fn(u64) -> Option<T>) -> (Vec<T>, usize) {
    let items = ids
        .iter()
        .skip(page.offset)
        .take(page.limit)
        .filter_map(|&id| load(id))
        .collect();
    (items, ids.len())
}

impl Store {
    pub fn new(data: Dataset) -> Store {
        let orders = Orders {
            by_user: index_by(&data.orders, |o| (o.user_id, o.id)),
            rows: data.orders,
        };
        let payments = Payments {
            by_order: index_by(&data.payments, |p| (p.order_id, p.id)),
            rows: data.payments,
        };
        let notifications = Notifications {
            by_user: index_by(&data.notifications, |n| (n.user_id, n.id)),
            rows: data.notifications,
        };
        let (events, _) = broadcast::channel(EVENT_BUFFER);
        Store {
            users: data.users,
            products: data
                .products
                .iter()
                .map(|p| (p.sku.clone(), p.clone()))
                .collect(),
            catalogue: {
                let mut catalogue = data.products;
                catalogue.sort_by(|a, b| a.sku.cmp(&b.sku));
                catalogue
            },
            orders: RwLock::new(orders),
            payments: RwLock::new(payments),
            notifications: RwLock::new(notifications),
            events,
        }
    }

    // --- users -------------------------------------------------------------------------

    pub fn user(&self, id: u64) -> Option<User> {
        row(&self.users, id)
    }

    /// The users among `ids`, in request order, missing ids omitted.
    pub fn users_by_ids(&self, ids: &[u64]) -> Vec<User> {
        ids.iter().filter_map(|&id| self.user(id)).collect()
    }

    pub fn list_users(&self, page: Page) -> Paged<User> {
        let items = self
            .users
            .iter()
            .skip(page.offset)
            .take(page.limit)
            .cloned()
            .collect();
        Paged {
            items,
            total: self.users.len(),
            limit: page.limit,
            offset: page.offset,
        }
    }

    /// A page of the catalogue, by SKU.
    pub fn list_products(&self, page: Page) -> Paged<Product> {
        Paged {
            items: self
                .catalogue
                .iter()
                .skip(page.offset)
                .take(page.limit)
                .cloned()
                .collect(),
            total: self.catalogue.len(),
            limit: page.limit,
            offset: page.offset,
        }
    }

    // --- orders ------------------------------------------------------------------------

    pub fn order(&self, id: u64) -> Option<Order> {
        row(&read(&self.orders).rows, id)
    }

    pub fn orders_by_ids(&self, ids: &[u64]) -> Vec<Order> {
        let orders = read(&self.orders);
        ids.iter().filter_map(|&id| row(&orders.rows, id)).collect()
    }

    /// Orders newest first. With `user_ids`, the page applies to each user in turn and the
    /// items come grouped in the order of `user_ids`: one call serves a batch of users.
    pub fn list_orders(
        &self,
        user_ids: Option<&[u64]>,
        status: Option<OrderStatus>,
        page: Page,
    ) -> Paged<Order> {
        let orders = read(&self.orders);
        let matches = |id: &u64| {
            status.is_none_or(|s| row(&orders.rows, *id).is_some_and(|o: Order| o.status == s))
        };
        let load = |id| row(&orders.rows, id);
        match user_ids {
            Some(user_ids) => {
                let mut items = Vec::new();
                let mut total = 0;
                for user_id in user_ids {
                    let ids: Vec<u64> = orders
                        .by_user
                        .get(user_id)
                        .map(|ids| ids.iter().rev().copied().filter(matches).collect())
                        .unwrap_or_default();
                    let (mut page_items, count) = page_of(&ids, page, load);
                    items.append(&mut page_items);
                    total += count;
                }
                Paged {
                    items,
                    total,
                    limit: page.limit,
                    offset: page.offset,
                }
            }
            None => {
                let ids: Vec<u64> = (1..=orders.rows.len() as u64)
                    .rev()
                    .filter(matches)
                    .collect();
                let (items, total) = page_of(&ids, page, load);
                Paged {
                    items,
                    total,
                    limit: page.limit,
                    offset: page.offset,
                }
            }
        }
    }

    /// Places an order from catalogue SKUs and notifies its user.
    pub fn create_order(&self, new: NewOrder) -> Result<Order, StoreError> {
        if self.user(new.user_id).is_none() {
            return Err(StoreError::Missing {
                resource: "user",
                id: new.user_id.to_string(),
            });
        }
        if new.items.is_empty() {
            return Err(StoreError::Invalid(
                "an order needs at least one item".into(),
            ));
        }
        let mut items = Vec::with_capacity(new.items.len());
        for item in &new.items {
            let product = self
                .products
                .get(&item.sku)
                .ok_or_else(|| StoreError::Missing {
                    resource: "product",
                    id: item.sku.clone(),
                })?;
            if !(1..=100).contains(&item.quantity) {
                return Err(StoreError::Invalid(format!(
                    "quantity of {} must be between 1 and 100",
                    item.sku
                )));
            }
            items.push(LineItem {
                sku: product.sku.clone(),
                name: product.name.clone(),
                quantity: item.quantity,
                unit_price: product.unit_price,
            });
        }
        let total = round_cents(
            items
                .iter()
                .map(|item| item.unit_price * f64::from(item.quantity))
                .sum(),
        );
        let order = {
            let mut orders = write(&self.orders);
            let order = Order {
                id: orders.rows.len() as u64 + 1,
                user_id: new.user_id,
                status: OrderStatus::Pending,
                total,
                currency: new.currency.unwrap_or(Currency::EUR),
                items,
                created_at: now(),
            };
            orders
                .by_user
                .entry(order.user_id)
                .or_default()
                .push(order.id);
            orders.rows.push(order.clone());
            order
        };
        self.create_notification(
            order.user_id,
            format!(
                "Order #{} was placed: {:.2} {:?}",
                order.id, order.total, order.currency
            ),
        );
        Ok(order)
    }

    // --- payments ----------------------------------------------------------------------

    pub fn payment(&self, id: u64) -> Option<Payment> {
        row(&read(&self.payments).rows, id)
    }

    pub fn payments_by_ids(&self, ids: &[u64]) -> Vec<Payment> {
        let payments = read(&self.payments);
        ids.iter()
            .filter_map(|&id| row(&payments.rows, id))
            .collect()
    }

    /// Payments by id ascending, optionally of one status. With `order_ids`, the page
    /// applies to each order in turn and the items come grouped in the order of
    /// `order_ids`: one call serves a batch of orders, however many there are.
    pub fn list_payments(
        &self,
        order_ids: Option<&[u64]>,
        status: Option<PaymentStatus>,
        page: Page,
    ) -> Paged<Payment> {
        let payments = read(&self.payments);
        let load = |id| row(&payments.rows, id);
        let matches = |id: &u64| status.is_none_or(|s| load(*id).is_some_and(|p| p.status == s));
        let (items, total) = match order_ids {
            Some(order_ids) => {
                let mut items = Vec::new();
                let mut total = 0;
                for order_id in order_ids {
                    let ids: Vec<u64> = payments
                        .by_order
                        .get(order_id)
                        .map(|ids| ids.iter().copied().filter(matches).collect())
                        .unwrap_or_default();
                    let (mut page_items, count) = page_of(&ids, page, load);
                    items.append(&mut page_items);
                    total += count;
                }
                (items, total)
            }
            None => {
                let ids: Vec<u64> = (1..=payments.rows.len() as u64).filter(matches).collect();
                page_of(&ids, page, load)
            }
        };
        Paged {
            items,
            total,
            limit: page.limit,
            offset: page.offset,
        }
    }

    /// Records a successful payment for an unpaid order and marks the order paid.
    pub fn create_payment(&self, new: NewPayment) -> Result<Payment, StoreError> {
        let order = self
            .order(new.order_id)
            .ok_or_else(|| StoreError::Missing {
                resource: "order",
                id: new.order_id.to_string(),
            })?;
        if order.status == OrderStatus::Cancelled {
            return Err(StoreError::Conflict(format!(
                "order {} is cancelled",
                order.id
            )));
        }
        let payment = {
            let mut payments = write(&self.payments);
            let already_paid = payments
                .by_order
                .get(&order.id)
                .into_iter()
                .flatten()
                .filter_map(|&id| row(&payments.rows, id))
                .any(|p: Payment| p.status == PaymentStatus::Succeeded);
            if already_paid {
                return Err(StoreError::Conflict(format!(
                    "order {} is already paid",
                    order.id
                )));
            }
            let payment = Payment {
                id: payments.rows.len() as u64 + 1,
                order_id: order.id,
                status: PaymentStatus::Succeeded,
                method: new.method,
                amount: order.total,
                currency: order.currency,
                created_at: now(),
            };
            payments
                .by_order
                .entry(order.id)
                .or_default()
                .push(payment.id);
            payments.rows.push(payment.clone());
            payment
        };
        {
            let mut orders = write(&self.orders);
            if let Some(row) = usize::try_from(order.id - 1)
                .ok()
                .and_then(|i| orders.rows.get_mut(i))
            {
                row.status = OrderStatus::Paid;
            }
        }
        self.create_notification(
            order.user_id,
            format!("Payment received for order #{}", order.id),
        );
        Ok(payment)
    }

    // --- notifications -----------------------------------------------------------------

    pub fn notification(&self, id: u64) -> Option<Notification> {
        row(&read(&self.notifications).rows, id)
    }

    pub fn notifications_by_ids(&self, ids: &[u64]) -> Vec<Notification> {
        let notifications = read(&self.notifications);
        ids.iter()
            .filter_map(|&id| row(&notifications.rows, id))
            .collect()
    }

    /// Notifications newest first; with several users, the page applies to each user.
    pub fn list_notifications(
        &self,
        user_ids: &[u64],
        unread_only: bool,
        page: Page,
    ) -> Paged<Notification> {
        let notifications = read(&self.notifications);
        let mut items = Vec::new();
        let mut total = 0;
        for user_id in user_ids {
            let ids: Vec<u64> = notifications
                .by_user
                .get(user_id)
                .map(|ids| {
                    ids.iter()
                        .rev()
                        .copied()
                        .filter(|&id| {
                            !unread_only
                                || row(&notifications.rows, id)
                                    .is_some_and(|n: Notification| !n.read)
                        })
                        .collect()
                })
                .unwrap_or_default();
            let (mut page_items, count) = page_of(&ids, page, |id| row(&notifications.rows, id));
            items.append(&mut page_items);
            total += count;
        }
        Paged {
            items,
            total,
            limit: page.limit,
            offset: page.offset,
        }
    }

    /// Unread notifications per user, in the order of `user_ids`.
    pub fn unread_counts(&self, user_ids: &[u64]) -> Vec<(u64, usize)> {
        let notifications = read(&self.notifications);
        user_ids
            .iter()
            .map(|&user_id| {
                let unread = notifications
                    .by_user
                    .get(&user_id)
                    .into_iter()
                    .flatten()
                    .filter(|&&id| {
                        row(&notifications.rows, id).is_some_and(|n: Notification| !n.read)
                    })
                    .count();
                (user_id, unread)
            })
            .collect()
    }

    pub fn mark_read(&self, id: u64) -> Option<Notification> {
        let mut notifications = write(&self.notifications);
        let index = usize::try_from(id).ok()?.checked_sub(1)?;
        let row = notifications.rows.get_mut(index)?;
        row.read = true;
        Some(row.clone())
    }

    /// Stores a notification and publishes it to the user's event streams.
    pub fn create_notification(&self, user_id: u64, message: String) -> Notification {
        let notification = {
            let mut notifications = write(&self.notifications);
            let notification = Notification {
                id: notifications.rows.len() as u64 + 1,
                user_id,
                message,
                read: false,
                created_at: now(),
            };
            notifications
                .by_user
                .entry(user_id)
                .or_default()
                .push(notification.id);
            notifications.rows.push(notification.clone());
            notification
        };
        // No receiver is not an error: nobody is streaming right now.
        let _ = self.events.send(notification.clone());
        notification
    }

    /// Every notification created from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Notification> {
        self.events.subscribe()
    }

    pub fn user_count(&self) -> usize {
        self.users.len()
    }
}

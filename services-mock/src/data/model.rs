//! The records the four services serve, in the JSON shape they have on the wire.

use serde::{Deserialize, Serialize};

/// A registered shop customer (users service).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub id: u64,
    pub name: String,
    pub email: String,
    pub country: String,
    pub tier: Tier,
    pub created_at: String,
}

/// Loyalty tier of a user.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Tier {
    Standard,
    Silver,
    Gold,
}

/// An order with its line items (orders service).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Order {
    pub id: u64,
    pub user_id: u64,
    pub status: OrderStatus,
    /// Sum of the line items, rounded to cents.
    pub total: f64,
    pub currency: Currency,
    pub items: Vec<LineItem>,
    pub created_at: String,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OrderStatus {
    Pending,
    Paid,
    Shipped,
    Delivered,
    Cancelled,
}

impl OrderStatus {
    pub const ALL: [OrderStatus; 5] = [
        OrderStatus::Pending,
        OrderStatus::Paid,
        OrderStatus::Shipped,
        OrderStatus::Delivered,
        OrderStatus::Cancelled,
    ];

    /// The wire spelling, as used in query parameters.
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Pending => "PENDING",
            OrderStatus::Paid => "PAID",
            OrderStatus::Shipped => "SHIPPED",
            OrderStatus::Delivered => "DELIVERED",
            OrderStatus::Cancelled => "CANCELLED",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub enum Currency {
    EUR,
    USD,
    GBP,
}

/// One product line of an order.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct LineItem {
    pub sku: String,
    pub name: String,
    pub quantity: u32,
    pub unit_price: f64,
}

/// A payment attempt for an order (payments service).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Payment {
    pub id: u64,
    pub order_id: u64,
    pub status: PaymentStatus,
    pub method: PaymentMethod,
    pub amount: f64,
    pub currency: Currency,
    pub created_at: String,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PaymentStatus {
    Succeeded,
    Pending,
    Failed,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PaymentMethod {
    Card,
    Paypal,
    BankTransfer,
}

/// A message to a user (notifications service).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Notification {
    pub id: u64,
    pub user_id: u64,
    pub message: String,
    pub read: bool,
    pub created_at: String,
}

/// A product of the catalogue that orders are placed from.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Product {
    pub sku: String,
    pub name: String,
    pub unit_price: f64,
}

/// Rounds a money amount to cents, as every service stores them.
pub fn round_cents(amount: f64) -> f64 {
    (amount * 100.0).round() / 100.0
}

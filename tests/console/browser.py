"""Selenium helpers for the console's pages (elements are found by their data-testid)."""

from __future__ import annotations

from typing import Any

from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from .console import Console

TOKEN_KEY = "llmspell-console-token"


def wait(driver: Any, timeout: float = 30) -> WebDriverWait:
    # Pages redraw their rows: an element found a moment ago may be gone; the condition is tried again.
    ignored = (NoSuchElementException, StaleElementReferenceException)
    return WebDriverWait(driver, timeout, poll_frequency=0.1, ignored_exceptions=ignored)


def testid(name: str) -> str:
    return f"[data-testid={name}]"


def find(driver: Any, name: str) -> Any:
    """The element with data-testid=name, once the page shows it."""
    return wait(driver).until(lambda d: d.find_element(By.CSS_SELECTOR, testid(name)))


def find_all(driver: Any, name: str) -> list[Any]:
    return driver.find_elements(By.CSS_SELECTOR, testid(name))


def visit(driver: Any, console: Console, route: str, token: str = "tok-alice") -> None:
    """Opens #route as the holder of token (signing in through the token form when the tab holds
    another token, or none) and waits until its page has drawn."""
    driver.get(console.url + route)
    if driver.execute_script(f"return sessionStorage.getItem('{TOKEN_KEY}')") != token:
        driver.execute_script("sessionStorage.clear()")
        driver.refresh()
        find(driver, "token-input").send_keys(token)
        find(driver, "token-submit").click()
    wait(driver).until(lambda d: d.execute_script("return document.body.dataset.ready") == route)


def requests_made(driver: Any) -> int:
    """API calls the page has made since it was loaded (api.js counts them)."""
    return int(driver.execute_script("return window.__consoleRequests || 0"))


def shown_state(driver: Any, seq: int) -> str:
    """The JSON text of the state view once it shows seq."""
    wait(driver).until(
        lambda d: d.find_element(By.CSS_SELECTOR, testid("state-seq")).get_attribute("data-seq") == str(seq)
    )
    return str(find(driver, "state-json").get_attribute("textContent"))


def set_value(driver: Any, element: Any, value: Any) -> None:
    """Sets an input's value and fires input and change, as a user's edit does."""
    driver.execute_script(
        "arguments[0].value = arguments[1];"
        "arguments[0].dispatchEvent(new Event('input')); arguments[0].dispatchEvent(new Event('change'));",
        element,
        str(value),
    )

"""Flask extension objects, created unbound and initialised by ``create_app``."""

from flask_login import LoginManager
from flask_mail import Mail
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    """Declarative base shared by every model."""


db = SQLAlchemy(model_class=Base)
login = LoginManager()
login.login_view = "auth.login"
mail = Mail()
csrf = CSRFProtect()

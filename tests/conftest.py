import pytest
import torch

import ntkssl


@pytest.fixture(scope="session")
def digits64():
    return ntkssl.load_dataset("digits", dtype=torch.float64)


@pytest.fixture(scope="session")
def digits():
    return ntkssl.load_dataset("digits")
